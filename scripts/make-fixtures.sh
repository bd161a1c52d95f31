#!/usr/bin/env bash
# Regenerates the committed media fixtures with ffmpeg (Debian package `ffmpeg`). Run once by hand;
# the outputs are committed so that tests never need ffmpeg.
#   video.ivf  VP8, 320x240, 30 fps, 3 s, a keyframe every 15 frames (0.5 s): a receiver that joins late
#              waits at most half a second for a keyframe.
#   audio.ogg  Opus, 48 kHz stereo, 3 s of a 440 Hz tone, one 20 ms packet per Ogg page (what the
#              sender paces by).
set -euo pipefail
cd "$(dirname "$0")/../fixtures/media"
command -v ffmpeg >/dev/null || { echo "make-fixtures: ffmpeg is missing (apt-get install ffmpeg)" >&2; exit 1; }
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i "testsrc=size=320x240:rate=30" -t 3 -c:v libvpx -g 15 -keyint_min 15 \
   -deadline realtime -cpu-used 8 -b:v 400k -auto-alt-ref 0 video.ivf
ff -f lavfi -i "sine=frequency=440:sample_rate=48000" -ac 2 -t 3 -c:a libopus -b:a 48k \
   -frame_duration 20 -page_duration 20000 audio.ogg
ls -l video.ivf audio.ogg
