"""The store, the insurer and providers over HTTP, devices, the command line, the crash matrix."""
