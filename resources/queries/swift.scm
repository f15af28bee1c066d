; Definitions in Swift. Conventions: ingest/code.py.
; `class_declaration` covers class, struct, enum, actor and extension; an extension only
; qualifies its members (`extension Downloader { func f }` -> Downloader.f). Protocols are
; interfaces; initializers and deinitializers are methods named `init` and `deinit`.

(class_declaration
  declaration_kind: "class"
  name: (type_identifier) @name) @definition.class

(class_declaration
  declaration_kind: "actor"
  name: (type_identifier) @name) @definition.class

(class_declaration
  declaration_kind: "struct"
  name: (type_identifier) @name) @definition.struct

(class_declaration
  declaration_kind: "enum"
  name: (type_identifier) @name) @definition.enum

(class_declaration
  declaration_kind: "extension"
  name: (_) @name) @scope.extension

(protocol_declaration
  name: (type_identifier) @name) @definition.interface

(function_declaration
  name: (simple_identifier) @name) @definition.function

(protocol_function_declaration
  name: (simple_identifier) @name) @definition.method

((init_declaration) @definition.method
  (#set! name "init"))

((deinit_declaration) @definition.method
  (#set! name "deinit"))
