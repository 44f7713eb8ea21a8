"""Build-time asset step of the example: writes build-info.json with a library installed by pip."""
import json
import sys

import six

json.dump({"built_with": "python " + sys.version.split()[0], "helper_lib": "six " + six.__version__}, sys.stdout)
