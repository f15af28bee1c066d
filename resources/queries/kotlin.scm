; Definitions in Kotlin. Conventions: ingest/code.py.
; Names are qualified by enclosing declarations, not by the package. Members of a
; `companion object` are named as Kotlin calls them (`Playlist.empty`); an extension
; function is qualified by its receiver type (`fun Track.describe()` -> Track.describe).

(class_declaration
  "interface"
  name: (identifier) @name) @definition.interface

(class_declaration
  (modifiers (class_modifier) @_modifier)
  name: (identifier) @name
  (#eq? @_modifier "enum")) @definition.enum

(class_declaration
  name: (identifier) @name) @definition.class

(object_declaration
  name: (identifier) @name) @definition.object

(companion_object) @scope.object

(function_declaration
  [(user_type) (nullable_type (user_type))] @receiver
  .
  name: (identifier) @name) @definition.function

(function_declaration
  name: (identifier) @name) @definition.function

((secondary_constructor) @definition.method
  (#set! name "constructor"))
