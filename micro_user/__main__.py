from micro_user.cli.main import main

main()
