; Definitions in Python. Conventions: ingest/code.py.
; A function inside a class is a method; decorators belong to the definition they decorate.

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(decorated_definition
  definition: (_) @attached) @wrapper
