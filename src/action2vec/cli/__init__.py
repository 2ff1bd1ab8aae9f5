"""The command-line application: builds configs and calls library functions."""
