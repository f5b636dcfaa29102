"""Plans: the policy's rules, the workflow, the plan pages and every save."""
