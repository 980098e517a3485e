"""A ready-to-paste CloudDrive2 `webhook.toml` section pointing at this instance."""

# The body follows CloudDrive2's file_notify shape (DESIGN.md §5); the placeholders are the
# ones CloudDrive2 documents in its sample webhook.toml.
TEMPLATE = '''# strmsync: paste into CloudDrive2 → Settings → Webhook
[global_params]
base_url = "{base_url}"
enabled = true

[global_params.default_headers]
content-type = "application/json"
user-agent = "clouddrive2/{{version}}"
authorization = "Bearer {token}"

[file_system_watcher]
url = "{{base_url}}/api/v1/webhook/clouddrive2/file_notify?device_name={{device_name}}&user_name={{user_name}}&type={{event_name}}"
method = "POST"
enabled = true
body = \'\'\'
{{
  "device_name": "{{device_name}}",
  "user_name": "{{user_name}}",
  "version": "{{version}}",
  "event_category": "{{event_category}}",
  "event_name": "{{event_name}}",
  "event_time": "{{event_time}}",
  "send_time": "{{send_time}}",
  "data": [
    {{
      "action": "{{action}}",
      "is_dir": "{{is_dir}}",
      "source_file": "{{source_file}}",
      "destination_file": "{{destination_file}}"
    }}
  ]
}}
\'\'\'
'''


def clouddrive2_webhook_toml(base_url: str, token: str) -> str:
    """The webhook.toml text for a strmsync reachable at `base_url`."""
    return TEMPLATE.format(base_url=base_url.rstrip("/"), token=token)
