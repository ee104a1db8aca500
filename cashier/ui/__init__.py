"""All of Textual: the app, the console, screens, dialogs, widgets."""
