; Definitions in C. Conventions: ingest/code.py.
; Function definitions (not prototypes), function-like macros, and struct/union/enum types
; with a body; an anonymous one takes its typedef's name. C does not scope nested names,
; so nothing is qualified. The function name is found through the declarator chain
; (`int *(*f)(void)`) in ingest/code.py.

(function_definition) @definition.function

(preproc_function_def
  name: (identifier) @name) @definition.macro

(struct_specifier
  name: (type_identifier) @name
  body: (field_declaration_list)) @definition.struct

(union_specifier
  name: (type_identifier) @name
  body: (field_declaration_list)) @definition.union

(enum_specifier
  name: (type_identifier) @name
  body: (enumerator_list)) @definition.enum

(type_definition
  type: (struct_specifier !name body: (field_declaration_list))
  declarator: (type_identifier) @name) @definition.struct

(type_definition
  type: (union_specifier !name body: (field_declaration_list))
  declarator: (type_identifier) @name) @definition.union

(type_definition
  type: (enum_specifier !name body: (enumerator_list))
  declarator: (type_identifier) @name) @definition.enum
