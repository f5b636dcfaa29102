"""Real host portals built the way their frameworks' own documentation shows, with the plugin embedded by
the README's recipe lines (the regions between ``# recipe:`` and ``# end of recipe`` are copied into the
README word for word, and ``tests/hosts/test_recipes.py`` checks that they still are)."""
