"""Pure rules, parsers and renderers: no server, no database server, no app."""
