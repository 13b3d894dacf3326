"""The `xroad` command line: the outermost edge, the only code that reads the environment."""
