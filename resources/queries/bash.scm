; Definitions in Bash and POSIX sh. Conventions: ingest/code.py.
; Both `name() { ... }` and `function name { ... }`. A function defined inside another is
; still global once its definition runs, so names are not qualified.

(function_definition
  name: (word) @name) @definition.function
