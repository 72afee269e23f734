#!/bin/sh
# Helm postrenderer: the rendered stream on stdin, the fixed stream on stdout. Any error (a
# document pss-fix cannot read, an edit it cannot verify) is a non-zero exit with nothing on
# stdout, and Helm then installs nothing. PSS_FIX names the binary if it is not on PATH.
exec "${PSS_FIX:-pss-fix}" fix --stdout "$@" -
