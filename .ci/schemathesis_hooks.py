"""Schemathesis hooks for datahall: the XLSX bodies of catalogue imports and data uploads
are sent as the bytes schemathesis generates (a real workbook or not, which the server must
refuse cleanly either way)."""

import schemathesis
from schemathesis.transport.serialization import serialize_binary

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@schemathesis.serializer(XLSX)
def xlsx(ctx, value):
    return {"data": serialize_binary(value)}

