"""The analysis steps: functions of tables, never opening a workspace or writing a file."""
