#!/usr/bin/env cwl-runner
# A job of a chosen length and outcome: writes out.txt, sleeps `seconds`, exits `exit_code`.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c]
arguments:
  - "echo slept $(inputs.seconds) > out.txt; sleep $(inputs.seconds); exit $(inputs.exit_code)"
inputs:
  seconds:
    type: int
    default: 1
  exit_code:
    type: int
    default: 0
outputs:
  out:
    type: File
    outputBinding:
      glob: out.txt
