# A workflow any CWL runner can run without a container: it sleeps `seconds`, then exits with
# `exit_code` (the ga4gh-wes profile's failing body asks for 1). Attached to every submission.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: [sh, -c]
arguments: ["sleep $(inputs.seconds); exit $(inputs.exit_code)"]
inputs:
  seconds: {type: int, default: 1}
  exit_code: {type: int, default: 0}
outputs: []
