// Runs before the first paint: the theme chosen with the toggle, if any, else the
// system's (prefers-color-scheme, in app.css).
(function () {
  var theme = localStorage.getItem("spangate.theme");
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
})();
