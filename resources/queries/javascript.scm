; Definitions in JavaScript (and JSX). Conventions: ingest/code.py.
; A function bound to a name (`const f = () => {}`) is a definition like `function f() {}`.

(class_declaration
  name: (identifier) @name) @definition.class

(variable_declarator
  name: (identifier) @name
  value: (class)) @definition.class

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier) (string)] @name) @definition.method

; Class fields holding a function: `onChange = (listener) => {...}`.
(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression)]) @definition.method

; Object literal entries holding a function: `{ render: function () {...} }`.
(pair
  key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.method

; Prototype methods: `Legacy.prototype.greet = function () {...}` -> Legacy.greet.
(assignment_expression
  left: (member_expression
    object: (member_expression
      object: (identifier) @receiver
      property: (property_identifier) @_prototype)
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression)]
  (#eq? @_prototype "prototype")) @definition.method

; `module.exports = function handler () {...}` is named by the function.
(assignment_expression
  left: (member_expression
    object: (identifier) @_module
    property: (property_identifier) @_exports)
  right: (function_expression name: (identifier) @name)
  (#eq? @_module "module")
  (#eq? @_exports "exports")) @definition.function

; Functions assigned to a name: `exports.handler = async (event) => {...}`.
(assignment_expression
  left: [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]
  right: [(arrow_function) (function_expression)]
  (#not-eq? @name "exports")) @definition.function

; `export` (and decorators written before it) belong to the exported definition.
(export_statement
  declaration: (_) @attached) @wrapper
