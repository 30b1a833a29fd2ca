"""Settings package: `base` (development defaults), `production`, `test`."""
