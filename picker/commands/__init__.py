"""One module per subcommand; each provides `add_parser(subparsers)` and its handler."""
