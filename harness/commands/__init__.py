"""One module per `harness` subcommand: register(subparsers) and run(args) -> exit code."""
