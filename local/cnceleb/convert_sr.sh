#!/usr/bin/env bash
# CNSRC 2022 speaker retrieval: the official Task2 package (target/, pool/, metadata/{enroll,test}.meta;
# docs/data_formats.md §5, known from code only) -> a folder in the asvlab SR format (enroll.lst, pool.lst,
# pool.key when test.meta exists) that local/cnceleb/prepare_sr.sh reads. Run with path.sh sourced.
set -euo pipefail

help_message="Usage: $0 <official-Task2-dir> <sr-dir>
 e.g.: $0 /export/CNSRC/Task2_dev data/local/sr_dev"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#
[ -d "$1" ] || { echo "$0: $1: no such directory; it must be the unpacked Task2 package (target/, pool/, metadata/)" >&2; exit 1; }
python -m local.cnceleb.convert_sr "$1" "$2"
