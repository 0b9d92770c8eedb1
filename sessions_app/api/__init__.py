"""REST API v1 (``/api/v1/``): apps' server-side calls and call logs; it never imports signaling."""
