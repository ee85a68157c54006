"""The JSON endpoint a till or a website contact form uses to send one interaction at a time."""

from __future__ import annotations

import hashlib
import json

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from journeys import importer, services_manage
from journeys.models import ApiToken, Interaction

MAX_BODY = 16 * 1024
FIELDS = set(importer.COLUMNS) | {"create_customer"}


def _token(request) -> ApiToken | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key:
        return None
    digest = hashlib.sha256(key.strip().encode()).hexdigest()
    token = ApiToken.objects.filter(key_hash=digest, is_active=True).first()
    if token:
        services_manage.api_token_used(token=token)
    return token


def _error(status: int, message: str, errors: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "errors": errors or {}}, status=status)


@csrf_exempt
@login_not_required
def interactions(request):
    """POST one interaction as JSON; see /api/v1/openapi.json."""
    if request.method != "POST":
        response = _error(405, "Use POST.")
        response["Allow"] = "POST"
        return response
    if _token(request) is None:
        response = _error(401, "A valid token is required: Authorization: Bearer <token>.")
        response["WWW-Authenticate"] = 'Bearer realm="crm"'
        return response
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY or len(request.body) > MAX_BODY:
        return _error(413, f"The body is larger than {MAX_BODY // 1024} KB; send one interaction at a time.")
    if request.content_type != "application/json":
        return _error(415, "Send JSON with Content-Type: application/json.")
    try:
        record = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        return _error(400, "The body is not valid JSON.")
    if not isinstance(record, dict):
        return _error(400, "Send one JSON object.")
    unknown = sorted(set(record) - FIELDS)
    if unknown:
        return _error(400, "Unknown fields.", {name: ["Unknown field."] for name in unknown})
    create = record.pop("create_customer", False) is True
    values = {key: "" if value is None else str(value) for key, value in record.items()}
    plan = importer.check_records([values], options={"create": create})
    if plan.bad_rows:
        [row] = plan.bad_rows
        customer_only = set(row.errors) == {"customer"} and not any(
            "Give the customer" in m for m in row.errors["customer"]
        )
        status = 404 if customer_only else 400
        return _error(
            status,
            "No such customer." if customer_only else "Some fields are not valid.",
            {name: list(messages) for name, messages in row.errors.items()},
        )
    [row] = plan.rows()
    if row.action == "skip":
        existing = Interaction.objects.get(external_ref=row.data["external_ref"])
        return JsonResponse({"id": existing.pk, "external_ref": existing.external_ref, "created": False}, status=200)
    importer.commit(plan, user=None)
    created = Interaction.objects.get(external_ref=row.data["external_ref"])
    return JsonResponse(
        {"id": created.pk, "external_ref": created.external_ref, "customer_id": created.customer_id, "created": True},
        status=201,
    )


@login_not_required
def openapi(request):
    return JsonResponse(OPENAPI)


ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
OPENAPI = {
    "openapi": "3.0.3",
    "info": {
        "title": "CRM interactions API",
        "version": "1.0.0",
        "description": "Send visits, purchases and contacts from a till or a website form, one at a time. "
        "The same rules as the CSV import: the customer by email, phone or external id; re-sending the same "
        "external_ref adds nothing.",
    },
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Interaction": {
                "type": "object",
                "required": ["occurred_at", "touchpoint"],
                "properties": {
                    "email": {"type": "string", "format": "email"},
                    "phone": {"type": "string", "example": "+1 207 555 0123"},
                    "customer_id": {"type": "string", "description": "The customer's external id."},
                    "first_name": {"type": "string", "description": "For a customer created by create_customer."},
                    "last_name": {"type": "string"},
                    "occurred_at": {"type": "string", "example": "2026-11-02T14:30:00-05:00"},
                    "touchpoint": {"type": "string", "example": "in-store", "description": "Slug or name."},
                    "kind": {"type": "string", "enum": ["conversation", "visit", "purchase"]},
                    "amount": {"type": "string", "example": "129.00"},
                    "external_ref": {"type": "string", "maxLength": 100},
                    "location": {"type": "string", "description": "Location name."},
                    "sentiment": {"type": "string", "enum": ["negative", "neutral", "positive"]},
                    "summary": {"type": "string"},
                    "offer_code": {
                        "type": "string",
                        "example": "KX7PM-Q4RTA",
                        "description": "The code of an offer this purchase used; it is redeemed once, on it.",
                    },
                    "create_customer": {"type": "boolean", "default": False},
                },
                "description": "One of email, phone or customer_id is required.",
            },
            "Created": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "external_ref": {"type": "string"},
                    "customer_id": {"type": "integer"},
                    "created": {"type": "boolean"},
                },
            },
            "Error": ERROR,
        },
    },
    "security": [{"token": []}],
    "paths": {
        "/api/v1/interactions": {
            "post": {
                "summary": "Record one interaction",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Interaction"}}},
                },
                "responses": {
                    "201": {
                        "description": "Recorded.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Created"}}},
                    },
                    "200": {
                        "description": "Already recorded (same external_ref); nothing added.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Created"}}},
                    },
                    "400": {
                        "description": "Bad JSON or fields; `errors` names each field.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                    "401": {"description": "Missing or wrong token."},
                    "404": {
                        "description": "Unknown customer (send create_customer: true to create one).",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                    "413": {"description": "Body larger than 16 KB."},
                    "415": {"description": "Not JSON."},
                },
            }
        }
    },
}
