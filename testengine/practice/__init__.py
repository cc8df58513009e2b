"""Practice papers for apprentices and training providers' learners (formative, never a result)."""
