; Definitions in C++. Conventions: ingest/code.py.
; Names are qualified by enclosing namespaces and classes with "::". An out-of-line
; definition (`Matrix<T>::Matrix(...)`) takes its qualifiers from its own name and is a
; method unless they name a namespace of the same file. Member declarations inside a
; class body count (they are the class's interface); prototypes at namespace level do not.

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name) @definition.namespace

(class_specifier
  name: [(type_identifier) (template_type) (qualified_identifier)] @name
  body: (field_declaration_list)) @definition.class

(struct_specifier
  name: [(type_identifier) (template_type) (qualified_identifier)] @name
  body: (field_declaration_list)) @definition.struct

(union_specifier
  name: [(type_identifier) (template_type) (qualified_identifier)] @name
  body: (field_declaration_list)) @definition.union

(enum_specifier
  name: [(type_identifier) (qualified_identifier)] @name
  body: (enumerator_list)) @definition.enum

(type_definition
  type: (struct_specifier !name body: (field_declaration_list))
  declarator: (type_identifier) @name) @definition.struct

(type_definition
  type: (class_specifier !name body: (field_declaration_list))
  declarator: (type_identifier) @name) @definition.class

(type_definition
  type: (enum_specifier !name body: (enumerator_list))
  declarator: (type_identifier) @name) @definition.enum

(function_definition) @definition.function

(field_declaration_list
  (field_declaration) @definition.function)

(field_declaration_list
  (declaration) @definition.function)

(field_declaration_list
  (template_declaration
    (declaration) @definition.function))

(preproc_function_def
  name: (identifier) @name) @definition.macro

; `template <typename T>` belongs to the definition it introduces.
(template_declaration
  (_) @attached) @wrapper
