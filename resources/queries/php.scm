; Definitions in PHP. Conventions: ingest/code.py.
; Names follow PHP: namespaces joined with "\" (`App\Repository\UserRepository`), members
; with "::" (`App\Repository\UserRepository::find`). `namespace X;` qualifies everything up to
; the next namespace statement; a bracketed `namespace X { }` is a definition.

((namespace_definition
  name: (namespace_name) @name
  !body) @scope.namespace
  (#set! extent "file"))

(namespace_definition
  name: (namespace_name) @name
  body: (compound_statement)) @definition.namespace

(class_declaration
  name: (name) @name) @definition.class

(interface_declaration
  name: (name) @name) @definition.interface

(trait_declaration
  name: (name) @name) @definition.trait

(enum_declaration
  name: (name) @name) @definition.enum

(function_definition
  name: (name) @name) @definition.function

((method_declaration
  name: (name) @name) @definition.method
  (#set! separator "::"))
