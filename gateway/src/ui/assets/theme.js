(function () {
  var theme = localStorage.getItem("spangate.theme");
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
})();
