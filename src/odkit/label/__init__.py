"""``odkit label``: a local, token-protected page to draw, move, resize, delete and relabel boxes.

``LabelStore`` holds the dataset and saves one image at a time back into the dataset's own files;
``LabelServer`` serves the page (package data in ``static/``) and its JSON API; ``ModelAssist`` adds a model's
proposals (``--model``; the model is loaded by the loader it is given). numpy only, stdlib HTTP.
"""

from odkit.label._assist import ModelAssist as ModelAssist
from odkit.label._errors import Conflict as Conflict
from odkit.label._errors import LabelError as LabelError
from odkit.label._server import LabelServer as LabelServer
from odkit.label._store import LabelStore as LabelStore
