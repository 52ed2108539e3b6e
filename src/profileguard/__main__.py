from profileguard.cli import main

main()
