#!/bin/sh
# Fieldcase launcher on PATH: with no arguments the window opens, otherwise the command line.
exec /opt/fieldcase/fieldcase "$@"
