; Definitions in Ruby. Conventions: ingest/code.py.
; Names follow Ruby's documentation style: `Billing::Invoice#add` for an instance method,
; `Billing::Invoice.draft` for a class method (`def self.draft`, or `def` inside `class << self`).

(module
  name: [(constant) (scope_resolution)] @name) @definition.module

(class
  name: [(constant) (scope_resolution)] @name) @definition.class

((method
  name: (_) @name) @definition.method
  (#set! separator "#"))

((singleton_method
  name: (_) @name) @definition.method
  (#set! separator "."))

((singleton_class) @scope.singleton
  (#set! child-separator "."))
