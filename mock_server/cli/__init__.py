"""The command line (`dumpling-mock`): one module per subcommand family; nothing imports it."""
