"""The AsyncAPI 3.0 document of Flokk's events, generated from the marshmallow contracts.

    python -m services.common.asyncapi > docs/asyncapi.yaml

A test fails when the checked-in document differs from what this generates.
"""

import sys

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .contracts import SUBSCRIPTIONS, VERSIONS, emitted_version


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def _component_schemas():
    spec = APISpec("flokk-events", "1", "3.1.0", plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)])
    schemas = [schema for versions in VERSIONS.values() for schema in versions.values()]
    for schema in schemas:
        name = _schema_name(schema)
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    return spec.to_dict()["components"]["schemas"]


def _envelope(source, event_type, version, data_schema):
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["event_id", "event_type", "schema_version", "occurred_at", "source", "data"],
        "properties": {
            "event_id": {"type": "string", "format": "uuid"},
            "event_type": {"const": event_type},
            "schema_version": {"const": version},
            "occurred_at": {"type": "string", "format": "date-time"},
            "source": {"const": source},
            "data": {"$ref": f"#/components/schemas/{data_schema}"},
        },
    }


def document():
    channels, operations, messages = {}, {}, {}
    consumers = {}
    for service, subscriptions in SUBSCRIPTIONS.items():
        for key in subscriptions:
            consumers.setdefault(key, []).append(service)
    for (source, event_type), versions in sorted(VERSIONS.items()):
        channel_id = f"{source}.{event_type}"
        sent_now = emitted_version(source, event_type)
        message_ids = []
        for version, schema in sorted(versions.items()):
            message_id = f"{event_type}.v{version}"
            message_ids.append(message_id)
            messages[message_id] = {
                "name": event_type,
                "title": f"{event_type}, schema_version {version}"
                + (" (sent now)" if version == sent_now else " (still accepted)"),
                "contentType": "application/json",
                "payload": _envelope(source, event_type, version, _schema_name(schema)),
            }
        channels[channel_id] = {
            "address": event_type,
            "description": f"Routing key `{event_type}` on the topic exchange `{source}.events`. "
            f"Consumed by: {', '.join(consumers.get((source, event_type), [])) or 'other systems'}. "
            f"Receivers accept every version listed; the emitter sends version {sent_now}.",
            "messages": {mid: {"$ref": f"#/components/messages/{mid}"} for mid in message_ids},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "bindingVersion": "0.3.0",
                    "exchange": {
                        "name": f"{source}.events",
                        "type": "topic",
                        "durable": True,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                }
            },
        }
        operations[f"{source}_sends_{event_type}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{mid}"} for mid in message_ids],
            # Persistent delivery is a property of the publish: an operation binding in AMQP 0.3.0.
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": "0.3.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Flokk events",
            "version": "1.0.0",
            "description": "Every event Flokk's services emit, and the intake other systems publish. "
            "Generated from services/common/contracts.py; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _component_schemas()},
    }


def render():
    return yaml.safe_dump(document(), sort_keys=True, allow_unicode=True, width=100)


if __name__ == "__main__":
    sys.stdout.write(render())
