; Definitions in Rust. Conventions: ingest/code.py.
; Functions in an `impl` or a trait are methods, named after the implementing type
; (`impl fmt::Display for Ledger { fn fmt }` -> Ledger::fmt).

(struct_item
  name: (type_identifier) @name) @definition.struct

(union_item
  name: (type_identifier) @name) @definition.union

(enum_item
  name: (type_identifier) @name) @definition.enum

(trait_item
  name: (type_identifier) @name) @definition.trait

(type_item
  name: (type_identifier) @name) @definition.type

(mod_item
  name: (identifier) @name
  body: (declaration_list)) @definition.module

(function_item
  name: (identifier) @name) @definition.function

(function_signature_item
  name: (identifier) @name) @definition.function

(macro_definition
  name: (identifier) @name) @definition.macro

(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
    (scoped_type_identifier name: (type_identifier) @name)
  ]) @scope.impl

(impl_item
  type: (_) @name) @scope.impl

; Attributes (`#[derive(Debug)]`) belong to the item they precede.
((attribute_item) @wrapper
  .
  (_) @attached)
