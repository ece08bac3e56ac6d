"""The two tools every model gets, with the names and input schemas of Anthropic's client tools.

Anthropic models receive the native `bash_20250124` / `text_editor_20250728` tool types; every
other provider receives these same names and schemas as function tools, so trajectories are
provider-neutral.
"""

from agent.core.messages import ToolSpec

BASH = ToolSpec(
    name="bash",
    description=(
        "Run a bash command in the repository's sandbox. The shell persists between calls "
        "(cd and export carry over). Output is combined stdout/stderr, capped."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command to run."},
            "restart": {"type": "boolean", "description": "Restart the shell."},
        },
        "required": ["command"],
    },
)

EDITOR = ToolSpec(
    name="str_replace_based_edit_tool",
    description=(
        "View, create and edit files. view shows a file with line numbers (or lists a directory); "
        "create writes a new file; str_replace replaces one unique occurrence of old_str; insert "
        "adds new_str after line insert_line."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "command": {"type": "string", "enum": ["view", "create", "str_replace", "insert"]},
            "path": {"type": "string", "description": "Path of the file, absolute or repo-relative."},
            "file_text": {"type": "string", "description": "Content for create."},
            "old_str": {"type": "string", "description": "Exact text to replace (must be unique)."},
            "new_str": {"type": "string", "description": "Replacement text, or text to insert."},
            "insert_line": {"type": "integer", "description": "Insert after this line (0 = top)."},
            "view_range": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "[start, end] lines to view, 1-based; end -1 means to the end.",
            },
        },
        "required": ["command", "path"],
    },
)

STANDARD_TOOLS = [BASH, EDITOR]
