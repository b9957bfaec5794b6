from cloudwindow.bridge.cli import main

main()
