"""
What the product does, for every transport: admit, record presence, moderate, let go, merge settings.

Services take and return plain values and models, raise ``errors.CallsError`` with a documented
code, reach the SFU through ``media.get_sfu()`` (a ``sfu.MediaService``) and everyone in a
session through ``broadcast``. They never import a transport (``docs/architecture.md``).
"""
