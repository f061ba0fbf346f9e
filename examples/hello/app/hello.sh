#!/bin/sh
echo "Hello from an image Slipway built on $(cat /etc/hostname 2>/dev/null || echo a node)."
