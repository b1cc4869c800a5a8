"""What a person asks for, turned into checked requests: prompt advice
(``prompting``), storyboard files (``storyboard``) and the one request builder of
every door (``compose``)."""
