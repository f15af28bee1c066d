; Definitions in C#. Conventions: ingest/code.py.
; Block namespaces are definitions; a file-scoped `namespace X;` only qualifies what follows.
; Constructors and destructors are methods named after their class; local functions count.

(namespace_declaration
  name: (_) @name) @definition.namespace

((file_scoped_namespace_declaration
  name: (_) @name) @scope.namespace
  (#set! extent "file"))

(class_declaration
  name: (identifier) @name) @definition.class

(struct_declaration
  name: (identifier) @name) @definition.struct

(interface_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(record_declaration
  name: (identifier) @name) @definition.record

(method_declaration
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.method

(destructor_declaration
  name: (identifier) @name) @definition.method

(local_function_statement
  name: (identifier) @name) @definition.function
