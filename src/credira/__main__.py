from credira.cli import main

main()
