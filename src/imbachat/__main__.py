from imbachat.cli import main

main()
