"""pytest puts this directory on sys.path, so the tests import `app` and the vendored
`spangate_plugin` package."""
