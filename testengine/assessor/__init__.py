"""The assessor's area: appointments for observation, presentation and professional discussion."""
