"""The app's screens: session list (home), session detail, forms, help, error."""
