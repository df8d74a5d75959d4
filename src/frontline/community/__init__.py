"""The last kilometre: grid staffing, buildings (一楼一档), households and vulnerable people,
public safety facilities, patrols and community calls (吹哨报到)."""
