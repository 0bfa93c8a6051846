"""Serve wes-service's app on 127.0.0.1 only (its ``wes-server`` binds every interface).

Run by the wes-service virtualenv's Python: ``python wes_serve.py PORT``, in the scratch
directory that holds ``./workflows`` (the runs) and where ``./config.yml`` would be read.
"""

import sys

from wes_service.wes_service_main import get_parser, setup

port = int(sys.argv[1])
app = setup(get_parser().parse_args(["--port", str(port)]))
app.run(host="127.0.0.1", port=port)
