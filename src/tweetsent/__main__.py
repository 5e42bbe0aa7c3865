from tweetsent.cli import run

run()
